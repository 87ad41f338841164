use loss_core::loss;

loss! {
    pub fn ce(#[grad] z: Vector<C>, #[ignore_index = -100] y: Class<C>) {
        cross_entropy(z, y)
    }
}

fn main() {}
