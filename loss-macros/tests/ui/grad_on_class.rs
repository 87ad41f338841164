use loss_core::loss;

loss! {
    pub fn ce(z: Vector<C>, #[grad] y: Class<C>) {
        cross_entropy(z, y)
    }
}

fn main() {}
