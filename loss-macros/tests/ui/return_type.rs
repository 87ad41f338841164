use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>, y: Class<C>) -> f32 {
        cross_entropy(z, y)
    }
}

fn main() {}
