// RUN: ernnc-opt %s -p ernn-fuse-gates,dce | filecheck %s
// The per-gate matvecs on x_t (and on h) become one matvec over the stacked
// rows; the split sinks through the bias add and the W+R sum.

builtin.module {
  func.func @main(%0: tensor<?x?x2xf32> {onnx.name = "X", onnx.dims = ["T", "N", 2 : i64]}) -> (tensor<1x?x2xf32> {onnx.name = "Y_h", onnx.dims = [1 : i64, "N", 2 : i64]}) {
    %1 = arith.constant dense<[[1.620000e+00, -6.100000e-01], [-5.300000e-01, -1.070000e+00]]> : tensor<2x2xf32>
    %2 = arith.constant dense<[-8.800000e-01, -1.740000e+00]> : tensor<2xf32>
    %3 = arith.constant dense<[[-1.700000e-01, -8.800000e-01], [4.000000e-02, 5.800000e-01]]> : tensor<2x2xf32>
    %4 = arith.constant dense<[[8.700000e-01, -2.300000e+00], [1.740000e+00, -7.600000e-01]]> : tensor<2x2xf32>
    %5 = arith.constant dense<[-1.42000008, 1.68000007]> : tensor<2xf32>
    %6 = arith.constant dense<[[-1.100000e+00, 1.140000e+00], [9.000000e-01, 5.000000e-01]]> : tensor<2x2xf32>
    %7 = arith.constant dense<[[3.200000e-01, -2.500000e-01], [1.460000e+00, -2.060000e+00]]> : tensor<2x2xf32>
    %8 = arith.constant dense<[-1.070000e+00, -0.409999967]> : tensor<2xf32>
    %9 = arith.constant dense<[[9.000000e-01, -6.800000e-01], [-1.200000e-01, -9.400000e-01]]> : tensor<2x2xf32>
    %10 = arith.constant dense<[[-3.200000e-01, -3.800000e-01], [1.130000e+00, -1.100000e+00]]> : tensor<2x2xf32>
    %11 = arith.constant dense<[1.8499999, 2.840000e+00]> : tensor<2xf32>
    %12 = arith.constant dense<[[-2.700000e-01, 5.300000e-01], [-6.900000e-01, -4.000000e-01]]> : tensor<2x2xf32>
    %13, %14, %15 = cell.scan %0 {kind = "lstm", layer = "layer0"} : tensor<?x?x2xf32> -> tensor<?x?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32> {
    ^bb0(%16: tensor<?x2xf32>, %17: tensor<?x2xf32>, %18: tensor<?x2xf32>):
      %19 = cell.matvec %1, %16 {matrix = "layer0.fwd.W", gates = ["i"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %20 = nn.add %19, %2 : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
      %21 = cell.matvec %3, %17 {matrix = "layer0.fwd.R", gates = ["i"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %22 = nn.add %20, %21 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %23 = cell.matvec %4, %16 {matrix = "layer0.fwd.W", gates = ["o"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %24 = nn.add %23, %5 : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
      %25 = cell.matvec %6, %17 {matrix = "layer0.fwd.R", gates = ["o"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %26 = nn.add %24, %25 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %27 = cell.matvec %7, %16 {matrix = "layer0.fwd.W", gates = ["f"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %28 = nn.add %27, %8 : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
      %29 = cell.matvec %9, %17 {matrix = "layer0.fwd.R", gates = ["f"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %30 = nn.add %28, %29 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %31 = cell.matvec %10, %16 {matrix = "layer0.fwd.W", gates = ["c"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %32 = nn.add %31, %11 : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
      %33 = cell.matvec %12, %17 {matrix = "layer0.fwd.R", gates = ["c"]} : (tensor<2x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %34 = nn.add %32, %33 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %35 = nn.act %22 {fn = "Sigmoid"} : tensor<?x2xf32> -> tensor<?x2xf32>
      %36 = nn.act %30 {fn = "Sigmoid"} : tensor<?x2xf32> -> tensor<?x2xf32>
      %37 = nn.act %34 {fn = "Tanh"} : tensor<?x2xf32> -> tensor<?x2xf32>
      %38 = nn.mul %36, %18 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %39 = nn.mul %35, %37 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %40 = nn.add %38, %39 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      %41 = nn.act %26 {fn = "Sigmoid"} : tensor<?x2xf32> -> tensor<?x2xf32>
      %42 = nn.act %40 {fn = "Tanh"} : tensor<?x2xf32> -> tensor<?x2xf32>
      %43 = nn.mul %41, %42 : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
      cell.yield %43, %40 : tensor<?x2xf32>, tensor<?x2xf32>
    }
    %44 = nn.unsqueeze %14 {axes = array<i64: 0>} : tensor<?x2xf32> -> tensor<1x?x2xf32>
    func.return %44 : tensor<1x?x2xf32>
  }
}

// CHECK-LABEL: func.func @main
// CHECK:      %[[W:.*]] = arith.constant {{.*}} : tensor<8x2xf32>
// CHECK-NEXT: %[[R:.*]] = arith.constant {{.*}} : tensor<8x2xf32>
// CHECK-NEXT: %[[B:.*]] = arith.constant dense<[-8.800000e-01, -1.740000e+00, -1.42000008, 1.68000007, -1.070000e+00, -0.409999967, 1.8499999, 2.840000e+00]> : tensor<8xf32>
// CHECK:      cell.scan
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x2xf32>, %[[H:.*]]: tensor<?x2xf32>, %{{.*}}: tensor<?x2xf32>):
// CHECK-NEXT:   %[[WX:.*]] = cell.matvec %[[W]], %[[X]] {matrix = "layer0.fwd.W", gates = ["i", "o", "f", "c"]} : (tensor<8x2xf32>, tensor<?x2xf32>) -> tensor<?x8xf32>
// CHECK-NEXT:   %[[XB:.*]] = nn.add %[[WX]], %[[B]] : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
// CHECK-NEXT:   %[[RH:.*]] = cell.matvec %[[R]], %[[H]] {matrix = "layer0.fwd.R", gates = ["i", "o", "f", "c"]}
// CHECK-NEXT:   %[[S:.*]] = nn.add %[[XB]], %[[RH]] : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
// CHECK-NEXT:   %[[I:.*]], %[[O:.*]], %[[F:.*]], %[[G:.*]] = nn.split %[[S]] {axis = 1 : i64, sizes = array<i64: 2, 2, 2, 2>}
// CHECK-NEXT:   nn.act %[[I]] {fn = "Sigmoid"}
// CHECK-NOT:    cell.matvec
// CHECK:        cell.yield
