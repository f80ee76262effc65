variable "region" {
  type    = string
  default = "us-east-1"
}

variable "stage" {
  type    = string
  default = "dev"
}

variable "image" {
  type    = string
  default = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
}

variable "instance_type" {
  type    = string
  default = "ml.g4dn.xlarge"
}

variable "subnet_ids" {
  type    = list(string)
  default = []
}
