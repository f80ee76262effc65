output "role_arn" {
  description = "The auditor role's ARN in this account."
  value       = aws_iam_role.auditor.arn
}
