use loss_core::loss;

loss! {
    pub fn f(#[grad] #[ignore_index] z: Vector<C>, y: Class<C>) {
        cross_entropy(z, y)
    }
}

fn main() {}
