"""The LightningModule and the networks it can use as a trunk."""
