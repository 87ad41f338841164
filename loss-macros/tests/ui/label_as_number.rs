use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>, y: Class<C>) {
        sum(z) * y
    }
}

fn main() {}
