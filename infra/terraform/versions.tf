terraform {
  # `~> 5.0` admits the 5.100.0 provider held in CI's offline mirror (see .ci/static.sh).
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # No backend block: state is local unless you add one. For a team, copy
  # backend.tf.example to backend.tf (S3 backend with native locking) before `terraform init`.
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(
      {
        Project     = "tasman-etl"
        Application = var.name
        Environment = var.environment
        ManagedBy   = "terraform"
      },
      var.tags,
    )
  }
}
