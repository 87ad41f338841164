use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>, k: Scalar) {
        sum(z.powi(k))
    }
}

fn main() {}
