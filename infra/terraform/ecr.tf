# The image repository. Tags are immutable, so a tag (the git SHA) always means the same image;
# every push is scanned. The lifecycle policy never expires the deployed image (image_tag) or
# the tags listed in ecr_protected_image_tags (say, the previous release, to roll back to),
# however many newer images the release workflow pushes.

resource "aws_ecr_repository" "etl" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_destroy

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.ecr.arn
  }
}

locals {
  ecr_protected_tags = distinct(concat([var.image_tag], var.ecr_protected_image_tags))

  # ECR applies rules by priority, and an image a rule selects by tag can never be expired by a
  # rule of lower priority. A tag list in one rule matches only images carrying ALL its tags,
  # so each protected tag gets its own rule: it selects exactly one image (tags are immutable
  # and unique) and keeps 1, so that image is never expired. The "any" rule comes last, as ECR
  # requires.
  ecr_protect_rules = [
    for i, tag in local.ecr_protected_tags : {
      rulePriority = i + 1
      description  = "Never expire ${tag} (deployed or protected)"
      selection = {
        tagStatus      = "tagged"
        tagPatternList = [tag]
        countType      = "imageCountMoreThan"
        countNumber    = 1
      }
      action = { type = "expire" }
    }
  ]
  ecr_untagged_priority = length(local.ecr_protected_tags) + 1
}

resource "aws_ecr_lifecycle_policy" "etl" {
  repository = aws_ecr_repository.etl.name

  policy = jsonencode({
    rules = concat(local.ecr_protect_rules, [
      {
        rulePriority = local.ecr_untagged_priority
        description  = "Drop untagged images after 14 days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 14
        }
        action = { type = "expire" }
      },
      {
        rulePriority = local.ecr_untagged_priority + 1
        description  = "Keep the ${var.ecr_keep_images} most recent other images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = { type = "expire" }
      },
    ])
  })
}
