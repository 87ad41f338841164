use loss_core::loss;

loss! {
    pub fn ce(#[grad] z: Vector<C>, y: Class<C>) {
        cross_entopy(z, y)
    }
}

fn main() {}
