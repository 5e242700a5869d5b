// RUN: ernnc-opt %s -p 'ernn-block-circulant{block=2},ernn-circulant-to-fft,ernn-schedule{device="z7020" overrides="overlap=0"}' | filecheck %s --check-prefix=IR
// RUN: ernnc-opt %s -p 'ernn-block-circulant{block=2},ernn-circulant-to-fft,ernn-schedule{device="z7020" overrides="overlap=0"}' -t hls | filecheck %s
// The schedule records the initiation interval of each MAC and the pragma
// says it: a float sum waits for its adder (5 cycles), and a circ.mac
// interleaves its 2 bins, so II = ceil(5 / 2) = 3. In fixed point it is 1
// (hls-schedule-pragmas.mlir).

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

// IR-COUNT-2: circ.mac {{.*}}ernn.schedule = {ii = 3 : i64
// CHECK-LABEL: // ---- ernnc_top.cpp ----
// CHECK:           // circ.mac layer0.fwd.W
// CHECK:                   ERNNC_PRAGMA(HLS PIPELINE II=3)
// CHECK:           // circ.mac layer0.fwd.R
// CHECK:                   ERNNC_PRAGMA(HLS PIPELINE II=3)
