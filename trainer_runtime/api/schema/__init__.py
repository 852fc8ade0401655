"""The typed contract between the daemon and its clients (CLI, GUI).

One module per domain (``jobs``, ``events``, ``datasets``, ``labels``, ``gpus``, ``settings``,
...): pydantic views for every response and event, and the request models of its routes.
``routes`` declares each route with its models; ``openapi`` builds ``/v1/openapi.json`` from
those declarations, so the document cannot drift from what the server answers.

Import the models from their module (``from trainer_runtime.api.schema.jobs import JobView``);
this package re-exports nothing, so a client that needs one domain imports only that one.
"""
