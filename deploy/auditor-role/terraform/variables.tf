variable "audit_account_id" {
  description = "The account that runs `r1policy audit --organization` (its principals may assume the role)."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}$", var.audit_account_id))
    error_message = "audit_account_id must be a 12-digit AWS account id."
  }
}

variable "role_name" {
  description = "The role name (`--role-name`); the same in every account."
  type        = string
  default     = "r1policy-auditor"
}

variable "external_id" {
  description = "When set, the trust policy requires this sts:ExternalId (`--external-id`)."
  type        = string
  default     = null
}

variable "allow_region_listing" {
  description = "Also allow account:ListRegions and ec2:DescribeRegions (`--regions all`)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
