resource "aws_sagemaker_model" "this" {
  name                     = "${var.name}-model"
  execution_role_arn       = "arn:aws:iam::111122223333:role/sagemaker-r1"
  enable_network_isolation = var.network_isolation

  primary_container {
    image = var.image
    model_data_source {
      s3_data_source {
        s3_uri           = var.model_uri
        s3_data_type     = "S3Prefix"
        compression_type = "None"
      }
    }
    environment = {
      HF_MODEL_ID = "/opt/ml/model"
      SM_NUM_GPUS = "1"
    }
  }

  vpc_config {
    subnets            = var.subnet_ids
    security_group_ids = var.security_group_ids
  }
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  name        = "${var.name}-config"
  kms_key_arn = var.kms_key_arn

  production_variants {
    variant_name           = "AllTraffic"
    model_name             = aws_sagemaker_model.this.name
    instance_type          = var.instance_type
    initial_instance_count = 1
  }
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = var.name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
}
