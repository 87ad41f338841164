use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Matrix<C>, y: Class<C>) {
        cross_entropy(z, y)
    }
}

fn main() {}
