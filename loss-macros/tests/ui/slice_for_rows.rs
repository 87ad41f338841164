use loss_core::loss;

loss! {
    pub fn ce(#[grad] z: Vector<C>, y: Class<C>) {
        cross_entropy(z, y)
    }
}

fn main() {
    let z = [0.5_f32, -1.0, 2.0];
    let y = [2_u32];
    let mut dz = [0.0_f32; 3];
    let _ = ce::value_and_grad(&z[..], &y, &mut dz[..]);
}
