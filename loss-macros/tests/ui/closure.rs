use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>) {
        sum((|v| v * 2.0)(z))
    }
}

fn main() {}
