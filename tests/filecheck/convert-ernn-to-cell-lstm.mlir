// RUN: ernnc-opt %s -p convert-ernn-to-cell,dce | filecheck %s
// LSTM lowered to one scan in per-gate (textbook) form: W and R rows of each
// gate i, o, f, c, bias Wb + Rb folded per gate.

builtin.module {
  func.func @main(%0: tensor<?x?x2xf32> {onnx.name = "X", onnx.dims = ["T", "N", 2 : i64]}) -> (tensor<1x?x2xf32> {onnx.name = "Y_h", onnx.dims = [1 : i64, "N", 2 : i64]}) {
    %1 = arith.constant dense<[[[1.620000e+00, -6.100000e-01], [-5.300000e-01, -1.070000e+00], [8.700000e-01, -2.300000e+00], [1.740000e+00, -7.600000e-01], [3.200000e-01, -2.500000e-01], [1.460000e+00, -2.060000e+00], [-3.200000e-01, -3.800000e-01], [1.130000e+00, -1.100000e+00]]]> : tensor<1x8x2xf32>
    %2 = arith.constant dense<[[[-1.700000e-01, -8.800000e-01], [4.000000e-02, 5.800000e-01], [-1.100000e+00, 1.140000e+00], [9.000000e-01, 5.000000e-01], [9.000000e-01, -6.800000e-01], [-1.200000e-01, -9.400000e-01], [-2.700000e-01, 5.300000e-01], [-6.900000e-01, -4.000000e-01]]]> : tensor<1x8x2xf32>
    %3 = arith.constant dense<[[-6.900000e-01, -8.500000e-01, -6.700000e-01, -1.000000e-02, -1.120000e+00, 2.300000e-01, 1.660000e+00, 7.400000e-01, -1.900000e-01, -8.900000e-01, -7.500000e-01, 1.690000e+00, 5.000000e-02, -6.400000e-01, 1.900000e-01, 2.100000e+00]]> : tensor<1x16xf32>
    %4, %5, %6 = ernn.lstm %0, %1, %2 bias(%3 : tensor<1x16xf32>) {hidden_size = 2 : i64, direction = "forward", layout = 0 : i64, activations = ["Sigmoid", "Tanh", "Tanh"], layer = "layer0", onnx_node = "LSTM_layer0", input_forget = 0 : i64} : tensor<?x?x2xf32>, tensor<1x8x2xf32>, tensor<1x8x2xf32> -> tensor<?x1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>
    func.return %5 : tensor<1x?x2xf32>
  }
}

// CHECK-LABEL: func.func @main
// CHECK:      %[[WI:.*]] = arith.constant dense<{{\[}}[1.620000e+00, -6.100000e-01], [-5.300000e-01, -1.070000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: %[[BI:.*]] = arith.constant dense<[-8.800000e-01, -1.740000e+00]> : tensor<2xf32>
// CHECK-NEXT: %[[RI:.*]] = arith.constant dense<{{\[}}[-1.700000e-01, -8.800000e-01], [4.000000e-02, 5.800000e-01]]> : tensor<2x2xf32>
// CHECK:      %{{.*}}, %[[HT:.*]], %{{.*}} = cell.scan %0 {kind = "lstm", layer = "layer0"}
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x2xf32>, %[[H:.*]]: tensor<?x2xf32>, %[[C:.*]]: tensor<?x2xf32>):
// CHECK-NEXT:   %[[WXI:.*]] = cell.matvec %[[WI]], %[[X]] {matrix = "layer0.fwd.W", gates = ["i"]}
// CHECK-NEXT:   %[[XBI:.*]] = nn.add %[[WXI]], %[[BI]]
// CHECK-NEXT:   %[[RHI:.*]] = cell.matvec %[[RI]], %[[H]] {matrix = "layer0.fwd.R", gates = ["i"]}
// CHECK-NEXT:   %[[PREI:.*]] = nn.add %[[XBI]], %[[RHI]]
// CHECK:        cell.matvec {{.*}} {matrix = "layer0.fwd.W", gates = ["o"]}
// CHECK:        cell.matvec {{.*}} {matrix = "layer0.fwd.W", gates = ["f"]}
// CHECK:        cell.matvec {{.*}} {matrix = "layer0.fwd.W", gates = ["c"]}
// CHECK:        %[[I:.*]] = nn.act %[[PREI]] {fn = "Sigmoid"}
// CHECK-NEXT:   %[[F:.*]] = nn.act %{{.*}} {fn = "Sigmoid"}
// CHECK-NEXT:   %[[G:.*]] = nn.act %{{.*}} {fn = "Tanh"}
// CHECK-NEXT:   %[[FC:.*]] = nn.mul %[[F]], %[[C]]
// CHECK-NEXT:   %[[IG:.*]] = nn.mul %[[I]], %[[G]]
// CHECK-NEXT:   %[[CN:.*]] = nn.add %[[FC]], %[[IG]]
// CHECK-NEXT:   %[[O:.*]] = nn.act %{{.*}} {fn = "Sigmoid"}
// CHECK-NEXT:   %[[TC:.*]] = nn.act %[[CN]] {fn = "Tanh"}
// CHECK-NEXT:   %[[HN:.*]] = nn.mul %[[O]], %[[TC]]
// CHECK-NEXT:   cell.yield %[[HN]], %[[CN]]
// CHECK:      %[[YH:.*]] = nn.unsqueeze %[[HT]] {axes = array<i64: 0>}
// CHECK-NEXT: func.return %[[YH]]
