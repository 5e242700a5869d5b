// RUN: ernnc-opt %s -p 'ernn-quantize{precision="default=fixed<16,6,RND,SAT>; weights=fixed<8,2>; act=fixed<12,2>" activations="pwl:4"}' | filecheck %s
// Fixed point: the input is cast in, weights become raw constants, every matvec
// and add is exact (wide result types) and followed by one cast, tanh becomes
// a fitted piecewise-linear table, and the output is cast back to float.

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

// CHECK:      %[[X:.*]] = fxp.cast %0 {tensor = "X", category = "input"} : tensor<?x?x2xf32> -> tensor<?x?x2x!fxp.fixed<16, 6, rnd, sat>>
// CHECK-NEXT: %[[W:.*]] = fxp.constant dense<{{\[\[}}14, -11], [78, -9]]> : tensor<2x2xi8> {tensor = "layer0.fwd.W", category = "weights"} -> tensor<2x2x!fxp.fixed<8, 2>>
// CHECK:      %[[SLOPES:.*]] = fxp.constant {{.*}} -> tensor<6x!fxp.fixed<18, 1, rnd, sat>>
// CHECK:      cell.scan %[[X]]
// CHECK:        %[[WX:.*]] = cell.matvec %[[W]], %{{.*}} {matrix = "layer0.fwd.W", gates = ["i"]} : (tensor<2x2x!fxp.fixed<8, 2>>, tensor<?x2x!fxp.fixed<16, 6, rnd, sat>>) -> tensor<?x2x!fxp.fixed<25, 9>>
// CHECK-NEXT:   fxp.cast %[[WX]] {tensor = "layer0.fwd.acc", category = "acc"} : tensor<?x2x!fxp.fixed<25, 9>> -> tensor<?x2x!fxp.fixed<16, 6, rnd, sat>>
// CHECK-NEXT:   nn.add {{.*}} -> tensor<?x2x!fxp.fixed<17, 7>>
// CHECK:        %[[T:.*]] = fxp.pwl %{{.*}}, %[[SLOPES]], %{{.*}} {tensor = "layer0.fwd.act", category = "act", fn = "Tanh", lo = -4.000000e+00 : f64, step_log2 = 1 : i64} {{.*}} -> tensor<?x2x!fxp.fixed<12, 2>>
// CHECK-NEXT:   %[[H:.*]] = fxp.cast %[[T]] {tensor = "layer0.fwd.h", category = "state"}
// CHECK-NEXT:   cell.yield %[[H]]
// CHECK:      fxp.cast %{{.*}} : tensor<1x?x2x!fxp.fixed<16, 6, rnd, sat>> -> tensor<1x?x2xf32>
