// RUN: ernnc-opt %s -p ernn-block-circulant{block=2},ernn-circulant-to-fft,canonicalize,dce | filecheck %s
// Decoupled FFT form: x_t and h are each transformed once, their products with the
// weight spectra meet in the frequency domain, one inverse FFT, then the bias.

builtin.module {
  func.func @main(%0: tensor<?x?x2xf32> {onnx.name = "X", onnx.dims = ["T", "N", 2 : i64]}) -> (tensor<?x1x?x4xf32> {onnx.name = "Y", onnx.dims = ["T", 1 : i64, "N", 4 : i64]}, tensor<1x?x4xf32> {onnx.name = "Y_h", onnx.dims = [1 : i64, "N", 4 : i64]}) {
    %1 = arith.constant dense<[[8.200000e-01, -1.020000e+00], [-1.020000e+00, 8.200000e-01], [1.700000e-01, -2.300000e-01], [-2.300000e-01, 1.700000e-01]]> : tensor<4x2xf32>
    %2 = arith.constant dense<[0.0200000014, -9.000000e-02, -0.00999999791, -6.000000e-02]> : tensor<4xf32>
    %3 = arith.constant dense<[[-1.800000e-01, -9.000000e-02, -8.100000e-01, -9.000000e-02], [-9.000000e-02, -1.800000e-01, -9.000000e-02, -8.100000e-01], [-3.500000e-01, 1.330000e+00, 9.000000e-02, -1.400000e-01], [1.330000e+00, -3.500000e-01, -1.400000e-01, 9.000000e-02]]> : tensor<4x4xf32>
    %4, %5 = cell.scan %0 {kind = "rnn", layer = "layer0"} : tensor<?x?x2xf32> -> tensor<?x?x4xf32>, tensor<?x4xf32> {
    ^bb0(%6: tensor<?x2xf32>, %7: tensor<?x4xf32>):
      %8 = cell.matvec %1, %6 {matrix = "layer0.fwd.W", gates = ["i"]} : (tensor<4x2xf32>, tensor<?x2xf32>) -> tensor<?x4xf32>
      %9 = nn.add %8, %2 : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
      %10 = cell.matvec %3, %7 {matrix = "layer0.fwd.R", gates = ["i"]} : (tensor<4x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
      %11 = nn.add %9, %10 : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
      %12 = nn.act %11 {fn = "Tanh"} : tensor<?x4xf32> -> tensor<?x4xf32>
      cell.yield %12 : tensor<?x4xf32>
    }
    %13 = nn.unsqueeze %4 {axes = array<i64: 1>} : tensor<?x?x4xf32> -> tensor<?x1x?x4xf32>
    %14 = nn.unsqueeze %5 {axes = array<i64: 0>} : tensor<?x4xf32> -> tensor<1x?x4xf32>
    func.return %13, %14 : tensor<?x1x?x4xf32>, tensor<1x?x4xf32>
  }
}
// CHECK:      %[[B:.*]] = arith.constant dense<[0.0200000014, -9.000000e-02, -0.00999999791, -6.000000e-02]> : tensor<4xf32>
// CHECK-NEXT: %[[WF:.*]] = arith.constant {{.*}} : tensor<2x1x2x2xf32>
// CHECK-NEXT: %[[RF:.*]] = arith.constant {{.*}} : tensor<2x2x2x2xf32>
// CHECK:      ^bb0(%[[X:.*]]: tensor<?x2xf32>, %[[H:.*]]: tensor<?x4xf32>):
// CHECK-NEXT:   %[[XF:.*]] = circ.rfft %[[X]] {block = 2 : i64} : tensor<?x2xf32> -> tensor<?x1x2x2xf32>
// CHECK-NEXT:   %[[AX:.*]] = circ.mac %[[WF]], %[[XF]]
// CHECK-NEXT:   %[[HF:.*]] = circ.rfft %[[H]] {block = 2 : i64} : tensor<?x4xf32> -> tensor<?x2x2x2xf32>
// CHECK-NEXT:   %[[AH:.*]] = circ.mac %[[RF]], %[[HF]]
// CHECK-NEXT:   %[[ACC:.*]] = nn.add %[[AX]], %[[AH]] : (tensor<?x2x2x2xf32>, tensor<?x2x2x2xf32>) -> tensor<?x2x2x2xf32>
// CHECK-NEXT:   %[[Y:.*]] = circ.irfft %[[ACC]] {block = 2 : i64, gates = ["i"]} : tensor<?x2x2x2xf32> -> tensor<?x4xf32>
// CHECK-NEXT:   nn.add %[[Y]], %[[B]]
// CHECK-NOT:    circ.irfft
