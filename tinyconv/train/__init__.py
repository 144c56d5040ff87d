"""Training AlexNet (§5) and showing what it learned (§6): the pieces examples/train_alexnet.py wires up.

checkpoint  atomic, pickle-free checkpoints          metrics  per-epoch JSON lines + CSV
config      the options; what --resume may change    outdir   one run per folder, one process at a time
guards      NaN/inf stop, "stuck at ln(C)" warning   plots    curves, Figure 3, Figure 4
loop        train_epoch / evaluate (top-1, top-5, ten-crop)
messages    errors as one line, in command-line words
"""
