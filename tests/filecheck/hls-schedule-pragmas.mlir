// RUN: ernnc-opt %s -p 'ernn-block-circulant{block=2},ernn-circulant-to-fft,ernn-quantize{precision="fixed<16,6>" activations="pwl:4"},ernn-schedule{device="z7020" clock=250.0 overrides="lanes=2,overlap=0"}' -t hls | filecheck %s
// The schedule drives the pragmas: lanes=2 unrolls every element-wise loop
// and the step's copies by 2 and splits the buffers they touch into 2
// banks; each FFT block loop takes a block a cycle; the device's part and
// clock reach build.tcl. overlap=0 keeps the step's stages one after
// another (hls-overlap.mlir checks the overlapped form).

// CHECK-LABEL: // ---- build.tcl ----
// CHECK:       set_part {xc7z020clg400-1}
// CHECK:       create_clock -period 4 -name default
// CHECK-LABEL: // ---- ernnc_top.cpp ----
// CHECK:       void ernnc_top(
// CHECK:         // element-wise: 1 op in one loop
// CHECK-NEXT:    static fx16_6 [[IN:v[0-9]+]][ERNNC_MAX_T * ERNNC_MAX_N * 2];
// CHECK-NEXT:    ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=[[IN]] cyclic factor=2)
// CHECK-NEXT:    for (int {{i[0-9]+}} = 0; {{i[0-9]+}} < dim_T * dim_N * 2; {{i[0-9]+}}++) {
// CHECK-NEXT:        ERNNC_PRAGMA(HLS PIPELINE II=1)
// CHECK-NEXT:        ERNNC_PRAGMA(HLS UNROLL factor=2)
// CHECK:         static fx16_6 [[XT:x_t[0-9]+]][ERNNC_MAX_N * 2];
// CHECK-NEXT:    ERNNC_PRAGMA(HLS ARRAY_PARTITION variable=[[XT]] cyclic factor=2)
// CHECK:           // circ.rfft
// CHECK:               ERNNC_PRAGMA(HLS PIPELINE II=1)
// CHECK:           // circ.mac layer0.fwd.W
// CHECK:           // 1 output block at once, the 2 bins of each summed over the 1 input blocks in order
// CHECK:           // the new states, where the sequence is still running, and y
// CHECK:                   ERNNC_PRAGMA(HLS UNROLL factor=2)

builtin.module {
  func.func @main(%0: tensor<?x?x2xf32> {onnx.name = "X", onnx.dims = ["T", "N", 2 : i64]}) -> (tensor<1x?x2xf32> {onnx.name = "Y_h", onnx.dims = [1 : i64, "N", 2 : i64]}) {
    %1 = arith.constant dense<[[2.200000e-01, -1.700000e-01], [1.220000e+00, -1.300000e-01]]> : tensor<2x2xf32>
    %2 = arith.constant dense<[-5.100000e-01, -2.600000e-01]> : tensor<2xf32>
    %3 = arith.constant dense<[[5.000000e-02, 7.900000e-01], [-4.500000e-01, -3.000000e-01]]> : tensor<2x2xf32>
    %4, %5 = cell.scan %0 {kind = "rnn", layer = "layer0"} : tensor<?x?x2xf32> -> tensor<?x?x2xf32>, tensor<?x2xf32> {
    ^bb0(%6: tensor<?x2xf32>, %7: tensor<?x2xf32>):
      %8 = cell.matvec %1, %6 {matrix = "layer0.fwd.W", gates = ["i"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %9 = nn.add %8, %2 : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
      %10 = cell.matvec %3, %7 {matrix = "layer0.fwd.R", gates = ["i"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %11 = nn.add %9, %10 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %12 = nn.act %11 {fn = "Tanh"} : tensor<?x2xf32> -> tensor<?x2xf32>
      cell.yield %12 : tensor<?x2xf32>
    }
    %13 = nn.unsqueeze %5 {axes = array<i64: 0>} : tensor<?x2xf32> -> tensor<1x?x2xf32>
    func.return %13 : tensor<1x?x2xf32>
  }
}
