"""The IR levels of ernnc, one dialect per module.

- ``ernn``: model level, one op per ONNX LSTM/GRU/RNN node;
- ``nn``: tensor ops around the cells, and the element-wise arithmetic;
- ``cell``: the recurrence as a scan over time with explicit weight matvecs.
"""
