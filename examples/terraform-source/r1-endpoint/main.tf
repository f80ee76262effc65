terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.80" }
  }
}

provider "aws" {
  region = var.region
}

locals {
  name_prefix = "r1-${var.stage}"
  weights_uri = "s3://${aws_s3_bucket.weights.bucket}/deepseek-r1-distill-llama-8b/"
}

resource "aws_kms_key" "weights" {
  description         = "DeepSeek-R1 weights"
  enable_key_rotation = true
}

module "endpoint" {
  source = "./modules/sagemaker-endpoint"

  name          = "${local.name_prefix}-distill-llama-8b"
  model_uri     = local.weights_uri
  image         = var.image
  instance_type = var.instance_type
  kms_key_arn   = aws_kms_key.weights.arn
  subnet_ids    = var.subnet_ids
  security_group_ids = ["sg-0c2d3e4f"]
}

output "endpoint_name" {
  value = module.endpoint.endpoint_name
}
