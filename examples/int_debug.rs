use burn::tensor::{Device, Int, Tensor, TensorData};
fn main() {
    let device = Device::flex().autodiff();
    let t = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0, 1, 1, 0], [5]), &device);
    println!("{:?}", t.into_data().convert::<i64>().to_vec::<i64>());
}
