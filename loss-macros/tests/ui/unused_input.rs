use loss_core::loss;

loss! {
    pub fn ce(#[grad] z: Vector<C>, y: Class<C>, temperature: Scalar) {
        cross_entropy(z, y)
    }
}

fn main() {}
