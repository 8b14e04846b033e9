# Item 6: inputs AWS would refuse at apply (or that would silently do nothing) are refused at
# plan. Each run plans the example variables with one bad input and expects exactly that
# variable's validation, or the resource precondition that checks a pair, to fail. A mock
# provider suffices: validations and preconditions run before any provider call.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["us-east-1a", "us-east-1b"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

# RDS identifiers and parameter group names refuse "--".
run "name_with_double_hyphen" {
  command = plan
  variables {
    name = "tasman--etl"
  }
  expect_failures = [var.name]
}

run "environment_with_double_hyphen" {
  command = plan
  variables {
    environment = "pre--prod"
  }
  expect_failures = [var.environment]
}

# 256 CPU units offer 512-2048 MiB only.
run "fargate_cpu_memory_pair_not_offered" {
  command = plan
  variables {
    task_cpu    = 256
    task_memory = 4096
  }
  expect_failures = [aws_ecs_task_definition.etl]
}

run "fargate_memory_off_the_step" {
  command = plan
  variables {
    task_cpu    = 8192
    task_memory = 17408 # 16384 + 1024: 8192 CPU goes in steps of 4096
  }
  expect_failures = [aws_ecs_task_definition.etl]
}

# There is no postgres19 parameter group family.
run "engine_version_without_a_parameter_family" {
  command = plan
  variables {
    db_engine_version = "19"
  }
  expect_failures = [var.db_engine_version]
}

run "max_storage_below_allocated" {
  command = plan
  variables {
    db_allocated_storage_gib     = 100
    db_max_allocated_storage_gib = 50
  }
  expect_failures = [aws_db_instance.this]
}

# "*" under StringEquals is a literal star: the role could never be assumed.
run "oidc_ref_with_a_wildcard" {
  command = plan
  variables {
    github_repository  = "example/tasman-etl"
    github_release_ref = "refs/heads/*"
  }
  expect_failures = [var.github_release_ref]
}

run "protected_image_tag_with_a_wildcard" {
  command = plan
  variables {
    ecr_protected_image_tags = ["release-*"]
  }
  expect_failures = [var.ecr_protected_image_tags]
}

# The good neighbours of the bad inputs plan.
run "valid_edges_plan" {
  command = plan
  variables {
    name                         = "tasman-etl-2"
    task_cpu                     = 256
    task_memory                  = 2048
    db_engine_version            = "18.1"
    db_allocated_storage_gib     = 100
    db_max_allocated_storage_gib = 0
    github_repository            = "example/tasman-etl"
    github_release_ref           = "refs/tags/v1.2.3"
  }
  assert {
    condition     = aws_ecs_task_definition.etl.memory == "2048"
    error_message = "256 CPU with 2048 MiB is a Fargate size."
  }
}

run "largest_fargate_size_plans" {
  command = plan
  variables {
    task_cpu    = 16384
    task_memory = 122880
  }
  assert {
    condition     = aws_ecs_task_definition.etl.cpu == "16384"
    error_message = "16384 CPU with 122880 MiB is a Fargate size."
  }
}
