// RUN: ernnc-opt %s -p canonicalize | filecheck %s
// squeeze(unsqueeze(x)) on the same axes is x; two transposes compose.

func.func @squeeze_of_unsqueeze(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = nn.unsqueeze %x {axes = array<i64: 1>} : tensor<?x4xf32> -> tensor<?x1x4xf32>
  %1 = nn.squeeze %0 {axes = array<i64: 1>} : tensor<?x1x4xf32> -> tensor<?x4xf32>
  func.return %1 : tensor<?x4xf32>
}
// CHECK-LABEL: func.func @squeeze_of_unsqueeze(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
// CHECK-NEXT:    func.return %x : tensor<?x4xf32>

func.func @squeeze_other_axis(%x: tensor<1x4xf32>) -> tensor<4xf32> {
  %0 = nn.unsqueeze %x {axes = array<i64: 2>} : tensor<1x4xf32> -> tensor<1x4x1xf32>
  %1 = nn.squeeze %0 {axes = array<i64: 0>} : tensor<1x4x1xf32> -> tensor<4x1xf32>
  %2 = nn.squeeze %1 {axes = array<i64: 1>} : tensor<4x1xf32> -> tensor<4xf32>
  func.return %2 : tensor<4xf32>
}
// CHECK-LABEL: func.func @squeeze_other_axis
// CHECK-NEXT:    nn.unsqueeze
// CHECK-NEXT:    nn.squeeze

func.func @transposes(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x2x3xf32>) {
  %0 = nn.transpose %x {perm = array<i64: 1, 0, 2>} : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %1 = nn.transpose %0 {perm = array<i64: 1, 0, 2>} : tensor<3x2x4xf32> -> tensor<2x3x4xf32>
  %2 = nn.transpose %0 {perm = array<i64: 2, 1, 0>} : tensor<3x2x4xf32> -> tensor<4x2x3xf32>
  func.return %1, %2 : tensor<2x3x4xf32>, tensor<4x2x3xf32>
}
// CHECK-LABEL: func.func @transposes
// CHECK-NEXT:    %{{.*}} = nn.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
// CHECK-NEXT:    func.return %x, %{{.*}}
