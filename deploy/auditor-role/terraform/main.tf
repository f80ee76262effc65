# r1policy read-only auditor role for one member account. Call the module once per member account
# (one aws provider per account, e.g. assuming OrganizationAccountAccessRole); see docs/organization.md.
# The permissions are exactly policies/iam/r1policy-auditor.json (a copy next to this file; a test keeps
# the two equal), plus (allow_region_listing) the region listing that `--regions all` reads.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "R1PolicyAuditAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${var.audit_account_id}:root"]
    }

    dynamic "condition" {
      for_each = var.external_id == null ? [] : [var.external_id]
      content {
        test     = "StringEquals"
        variable = "sts:ExternalId"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "auditor" {
  name                 = var.role_name
  description          = "r1policy read-only auditor (List/Get/Describe of SageMaker, S3 bucket settings, KMS keys)"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "auditor" {
  name   = "r1policy-auditor"
  role   = aws_iam_role.auditor.id
  policy = file("${path.module}/r1policy-auditor.json")
}

resource "aws_iam_role_policy" "regions" {
  count = var.allow_region_listing ? 1 : 0
  name  = "r1policy-auditor-regions"
  role  = aws_iam_role.auditor.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "R1PolicyEnabledRegions"
      Effect   = "Allow"
      Action   = ["account:ListRegions", "ec2:DescribeRegions"]
      Resource = "*"
    }]
  })
}
