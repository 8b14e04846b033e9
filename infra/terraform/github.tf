# Optional: the role the release workflow (.github/workflows/release.yml) assumes through
# GitHub's OIDC provider to push images to the ECR repository. No long-lived AWS keys in GitHub.
# Set github_repository = "owner/name" to create it; AWS allows one GitHub OIDC provider per
# account, so pass github_oidc_provider_arn when the account already has one.

locals {
  github_release = var.github_repository != null
  github_oidc_provider_arn = (
    !local.github_release ? null :
    var.github_oidc_provider_arn != null ? var.github_oidc_provider_arn : aws_iam_openid_connect_provider.github[0].arn
  )
}

resource "aws_iam_openid_connect_provider" "github" {
  count = local.github_release && var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "github_release_assume" {
  count = local.github_release ? 1 : 0

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only workflows of this repository running on the release ref may assume the role.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:ref:${var.github_release_ref}"]
    }
  }
}

resource "aws_iam_role" "github_release" {
  count = local.github_release ? 1 : 0

  name               = "${local.iam_prefix}-release"
  description        = "Assumed by the tasman-etl release workflow (GitHub OIDC) to push images"
  assume_role_policy = data.aws_iam_policy_document.github_release_assume[0].json
}

data "aws_iam_policy_document" "github_release" {
  statement {
    sid       = "EcrAuthToken"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # this action has no resource-level permissions
  }

  statement {
    sid = "PushToTheEtlRepository"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [aws_ecr_repository.etl.arn]
  }
}

resource "aws_iam_role_policy" "github_release" {
  count = local.github_release ? 1 : 0

  name   = "push-etl-image"
  role   = aws_iam_role.github_release[0].id
  policy = data.aws_iam_policy_document.github_release.json
}
