use loss_core::loss;

loss! {
    #[reduce(median)]
    pub fn ce(#[grad] z: Vector<C>, y: Class<C>) {
        cross_entropy(z, y)
    }
}

fn main() {}
