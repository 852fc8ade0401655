"""Labels of image datasets: shapes, geometry, the class map, YOLO/COCO formats (no Qt, no torch)."""
