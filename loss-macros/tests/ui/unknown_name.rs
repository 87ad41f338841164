use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>) {
        sum(z * temperature)
    }
}

fn main() {}
