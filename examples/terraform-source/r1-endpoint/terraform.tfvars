stage         = "prod"
instance_type = "ml.g5.2xlarge"
subnet_ids    = ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]
