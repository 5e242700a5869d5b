"""ernnc: compile ONNX recurrent networks into block-circulant FPGA accelerators.

The package is laid out as the repository is: ``ernnc.compiler`` (driver, CLI,
ONNX frontend), ``ernnc.dialects`` (the IR levels), ``ernnc.passes`` (one
``ModulePass`` per file) and ``ernnc.backends`` (NumPy reference, HLS C++).
"""

__version__ = "0.1.0"
