"""Supervised fine-tuning on instruction and chat data: file formats, chat templates, loss masks, packing.

``formats`` and ``templates`` are pure Python (no torch, no transformers) so that the daemon, the CLI
and the GUI can read a dataset and name a template without loading a model stack; ``render`` needs a
transformers tokenizer and ``packing`` needs torch, and both are imported only by the code that trains
or previews.
"""
