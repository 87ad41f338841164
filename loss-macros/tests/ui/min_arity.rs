use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>) {
        min(z, z, z)
    }
}

fn main() {}
