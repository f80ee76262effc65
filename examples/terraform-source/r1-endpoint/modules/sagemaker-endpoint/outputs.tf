output "endpoint_name" {
  value = aws_sagemaker_endpoint.this.name
}
