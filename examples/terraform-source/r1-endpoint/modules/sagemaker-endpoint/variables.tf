variable "name" { type = string }
variable "model_uri" { type = string }
variable "image" { type = string }
variable "instance_type" { type = string }
variable "kms_key_arn" { type = string }
variable "subnet_ids" { type = list(string) }
variable "security_group_ids" { type = list(string) }
variable "network_isolation" {
  type    = bool
  default = true
}
