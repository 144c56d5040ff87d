"""tinyconv: AlexNet (Krizhevsky, Sutskever & Hinton, 2012) from scratch on NumPy and CuPy."""
