"""The job seeker's page on AWS (infra/terraform/site.tf), proven from the parsed HCL.

Pure parsing (python-hcl2), like test_terraform.py: no AWS, no terraform binary. A private S3
bucket behind CloudFront, off by default (`site_enabled`); `terraform test`
(tests/site.tftest.hcl, tests/site_plan.tftest.hcl) checks the same with every reference
resolved, and .ci/static.sh runs checkov over it with site_enabled = true.
"""

from __future__ import annotations

import re

import pytest

from infra.test_terraform import REPO, TF_DIR, Block, Config

SITE_TF = TF_DIR / "site.tf"
SITE_COUNT = "${local.site_count}"
BUCKET_ARN = "${aws_s3_bucket.site[0].arn}"
DISTRIBUTION_ARN = "${aws_cloudfront_distribution.site[0].arn}"

# The checkov findings the optional page accepts, each with its reason inline in site.tf.
# Adding one means reviewing it here and raising the cap in test_terraform.py.
ACCEPTED_SKIPS = {
    "CKV_AWS_18",  # S3 access logging: no log bucket in the project
    "CKV_AWS_144",  # cross-region replication of a rebuildable page
    "CKV2_AWS_62",  # S3 event notifications: nothing consumes them
    "CKV_AWS_68",  # WAF
    "CKV2_AWS_47",  # WAF's Log4j rule
    "CKV_AWS_86",  # CloudFront standard logs: no ACL-enabled log bucket
    "CKV_AWS_310",  # origin failover
    "CKV_AWS_374",  # geo restriction
    "CKV_AWS_174",  # TLS policy of the default certificate
    "CKV2_AWS_42",  # custom certificate
}


@pytest.fixture(scope="module")
def tf() -> Config:
    assert SITE_TF.is_file(), f"{SITE_TF} is missing"
    return Config(TF_DIR)


def _statements(tf: Config, name: str) -> list[Block]:
    statements: list[Block] = tf.data["aws_iam_policy_document"][name]["statement"]
    return statements


def _conditions(statement: Block) -> dict[str, Block]:
    return {c["variable"]: c for c in statement.get("condition", [])}


def _site_resources(tf: Config) -> list[tuple[str, str, Block]]:
    return [
        (rtype, name, body)
        for rtype, named in tf.resources.items()
        for name, body in named.items()
        if name == "site" or name.startswith("site_")
    ]


# ---------------------------------------------------------------------------------------------
# Optional, and off by default
# ---------------------------------------------------------------------------------------------


def test_site_is_a_real_part_of_the_module_not_an_example() -> None:
    assert not (TF_DIR / "site.tf.example").exists()
    assert SITE_TF.is_file()


def test_site_is_off_by_default_and_everything_hangs_on_the_switch(tf: Config) -> None:
    assert tf.default("site_enabled") is False
    assert tf.locals["site_count"] == "${var.site_enabled ? 1 : 0}"
    example = (TF_DIR / "terraform.tfvars.example").read_text(encoding="utf-8")
    assert re.search(r"^site_enabled\s*=\s*false\s*$", example, re.MULTILINE)

    resources = _site_resources(tf)
    expected = {
        ("aws_s3_bucket", "site"),
        ("aws_s3_bucket_public_access_block", "site"),
        ("aws_s3_bucket_ownership_controls", "site"),
        ("aws_s3_bucket_server_side_encryption_configuration", "site"),
        ("aws_s3_bucket_policy", "site"),
        ("aws_kms_key", "site"),
        ("aws_cloudfront_origin_access_control", "site"),
        ("aws_cloudfront_response_headers_policy", "site"),
        ("aws_cloudfront_distribution", "site"),
        ("aws_iam_policy", "site_publish"),
    }
    assert expected <= {(rtype, name) for rtype, name, _ in resources}
    for rtype, name, body in resources:
        assert body.get("count") == SITE_COUNT, f"{rtype}.{name} is not behind site_enabled"
    for name in ("site", "site_publish"):
        assert tf.data["aws_iam_policy_document"][name]["count"] == SITE_COUNT, name


def test_site_outputs_are_null_while_it_is_off(tf: Config) -> None:
    site_outputs = {k: v for k, v in tf.outputs.items() if k.startswith("site_")}
    assert set(site_outputs) == {
        "site_bucket",
        "site_url",
        "site_distribution_id",
        "site_publish_policy_arn",
    }
    for name, out in site_outputs.items():
        value = out["value"]
        assert value.startswith(("${one(", "${var.site_enabled ?")), name
        assert "null" in out["description"], name


def test_site_variables_are_validated(tf: Config) -> None:
    assert tf.default("site_price_class") == "PriceClass_100"
    assert "PriceClass_All" in tf.variables["site_price_class"]["validation"][0]["condition"]
    assert tf.default("site_bucket_name") is None
    bucket = tf.resource("aws_s3_bucket", "site")
    (check,) = bucket["lifecycle"][0]["precondition"]
    assert check["condition"] == "${length(local.site_bucket_name) <= 63}"


# ---------------------------------------------------------------------------------------------
# The bucket: private, encrypted, TLS only
# ---------------------------------------------------------------------------------------------


def test_site_bucket_blocks_public_access_and_acls(tf: Config) -> None:
    pab = tf.resource("aws_s3_bucket_public_access_block", "site")
    assert pab["bucket"] == "${aws_s3_bucket.site[0].id}"
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert pab[flag] is True, flag
    ownership = tf.resource("aws_s3_bucket_ownership_controls", "site")
    assert ownership["rule"][0]["object_ownership"] == "BucketOwnerEnforced"
    policy = tf.resource("aws_s3_bucket_policy", "site")
    assert policy["policy"] == "${data.aws_iam_policy_document.site[0].json}"
    assert "${aws_s3_bucket_public_access_block.site}" in policy["depends_on"]


def test_site_bucket_is_sse_kms_with_its_own_rotating_key(tf: Config) -> None:
    sse = tf.resource("aws_s3_bucket_server_side_encryption_configuration", "site")
    rule = sse["rule"][0]
    default = rule["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == "${aws_kms_key.site[0].arn}"
    assert rule["bucket_key_enabled"] is True
    key = tf.resource("aws_kms_key", "site")
    assert key["enable_key_rotation"] is True


def test_site_key_lets_cloudfront_decrypt_for_this_distribution_only(tf: Config) -> None:
    policy = tf.resource("aws_kms_key", "site")["policy"]
    # the account's IAM delegation, as every key of kms.tf, and one service grant
    assert "local.kms_account_admin_statement" in policy
    assert policy.count("Principal") == 1
    assert 'Service = "cloudfront.amazonaws.com"' in policy
    assert 'Action = "kms:Decrypt"' in policy
    assert '{StringEquals = {"AWS:SourceArn" = aws_cloudfront_distribution.site[0].arn}}' in (
        policy
    )


def test_site_bucket_policy_lets_only_this_distribution_read(tf: Config) -> None:
    statements = _statements(tf, "site")
    allows = [st for st in statements if st.get("effect", "Allow") == "Allow"]
    (read,) = allows
    assert read["actions"] == ["s3:GetObject"]
    assert read["resources"] == [f"{BUCKET_ARN}/*"]
    (principal,) = read["principals"]
    assert principal == {"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}
    source = _conditions(read)["AWS:SourceArn"]
    assert (source["test"], source["values"]) == ("StringEquals", [DISTRIBUTION_ARN])

    (deny,) = [st for st in statements if st.get("effect") == "Deny"]
    assert deny["actions"] == ["s3:*"]
    assert set(deny["resources"]) == {BUCKET_ARN, f"{BUCKET_ARN}/*"}
    tls = _conditions(deny)["aws:SecureTransport"]
    assert (tls["test"], tls["values"]) == ("Bool", ["false"])


# ---------------------------------------------------------------------------------------------
# CloudFront
# ---------------------------------------------------------------------------------------------


def test_distribution_reads_the_bucket_through_origin_access_control(tf: Config) -> None:
    oac = tf.resource("aws_cloudfront_origin_access_control", "site")
    assert oac["origin_access_control_origin_type"] == "s3"
    assert (oac["signing_behavior"], oac["signing_protocol"]) == ("always", "sigv4")
    distribution = tf.resource("aws_cloudfront_distribution", "site")
    (origin,) = distribution["origin"]
    assert origin["domain_name"] == "${aws_s3_bucket.site[0].bucket_regional_domain_name}"
    assert origin["origin_access_control_id"] == (
        "${aws_cloudfront_origin_access_control.site[0].id}"
    )
    assert "s3_origin_config" not in origin, "a legacy origin access identity"


def test_distribution_serves_index_html_over_https_with_security_headers(tf: Config) -> None:
    distribution = tf.resource("aws_cloudfront_distribution", "site")
    assert distribution["enabled"] is True
    assert distribution["default_root_object"] == "index.html"
    (behavior,) = distribution["default_cache_behavior"]
    assert behavior["viewer_protocol_policy"] == "redirect-to-https"
    assert behavior["allowed_methods"] == ["GET", "HEAD"]
    assert behavior["target_origin_id"] == distribution["origin"][0]["origin_id"]
    assert behavior["response_headers_policy_id"] == (
        "${aws_cloudfront_response_headers_policy.site[0].id}"
    )
    headers = tf.resource("aws_cloudfront_response_headers_policy", "site")
    security = headers["security_headers_config"][0]
    hsts = security["strict_transport_security"][0]
    assert hsts["access_control_max_age_sec"] >= 31536000
    assert hsts["include_subdomains"] is True and hsts["override"] is True
    assert security["frame_options"][0]["frame_option"] == "DENY"
    assert security["content_type_options"][0]["override"] is True


# ---------------------------------------------------------------------------------------------
# Publishing: a policy for the publishing machine, nothing on the scheduled task
# ---------------------------------------------------------------------------------------------


def test_publish_policy_syncs_the_bucket_and_invalidates_the_distribution_only(
    tf: Config,
) -> None:
    statements = _statements(tf, "site_publish")
    assert all(st.get("effect", "Allow") == "Allow" for st in statements)
    by_action = {a: st for st in statements for a in st["actions"]}
    assert set(by_action) == {
        "s3:ListBucket",
        "s3:PutObject",
        "s3:DeleteObject",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "cloudfront:CreateInvalidation",
    }
    assert by_action["s3:ListBucket"]["resources"] == [BUCKET_ARN]
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert by_action[action]["resources"] == [f"{BUCKET_ARN}/*"], action
    kms = by_action["kms:GenerateDataKey"]
    assert kms["resources"] == ["${aws_kms_key.site[0].arn}"]
    assert _conditions(kms)["kms:ViaService"]["values"] == ["s3.${local.region}.amazonaws.com"]
    assert by_action["cloudfront:CreateInvalidation"]["resources"] == [DISTRIBUTION_ARN]

    policy = tf.resource("aws_iam_policy", "site_publish")
    assert policy["name"] == "${local.iam_prefix}-site-publish"
    assert policy["policy"] == "${data.aws_iam_policy_document.site_publish[0].json}"
    # attached by the operator: the module attaches it to none of its roles
    for kind in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment"):
        for body in tf.resources.get(kind, {}).values():
            assert "site_publish" not in body.get("policy_arn", ""), kind


# ---------------------------------------------------------------------------------------------
# checkov, terraform test, CI and docs
# ---------------------------------------------------------------------------------------------


def test_site_skips_are_the_accepted_ones() -> None:
    text = SITE_TF.read_text(encoding="utf-8")
    skipped = re.findall(r"#checkov:skip=(CKV2?_AWS_\d+):", text)
    assert len(skipped) == len(set(skipped))
    assert set(skipped) == ACCEPTED_SKIPS
    # fixed rather than skipped: the headers policy is attached, the bucket is SSE-KMS
    assert "CKV2_AWS_32" not in text and "CKV_AWS_145" not in text


def test_static_gate_scans_the_site_turned_on() -> None:
    static = (REPO / ".ci" / "static.sh").read_text(encoding="utf-8")
    assert "echo 'site_enabled = true'" in static
    assert re.search(r'gate "checkov terraform \(\$TF_DIR, site_enabled\)"', static)


def test_terraform_tests_cover_the_site() -> None:
    tests = TF_DIR / "tests"
    mock = (tests / "site.tftest.hcl").read_text(encoding="utf-8")
    assert 'mock_provider "aws"' in mock and "command = apply" in mock
    for needle in (
        "site_enabled = true",
        "restrict_public_buckets",
        "origin_access_control_id",
        "AWS:SourceArn",
        "redirect-to-https",
        'default_root_object == "index.html"',
        "length(aws_s3_bucket.site) == 0",
        "cloudfront:CreateInvalidation",
    ):
        assert needle in mock, needle
    plan = (tests / "site_plan.tftest.hcl").read_text(encoding="utf-8")
    assert "skip_credentials_validation = true" in plan and "site_enabled = true" in plan
    assert "mock_provider" not in plan


def test_docs_describe_publishing_the_page() -> None:
    deploy = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = deploy.split("## Publishing the job seeker's page", 1)
    assert len(section) == 2, "docs/deploy.md lacks the publishing section"
    body = section[1].split("\n## ", 1)[0]
    for needle in (
        "site_enabled = true",
        "tasman-etl site",
        "aws s3 sync",
        "--delete",
        "aws cloudfront create-invalidation",
        "site_publish_policy_arn",
        "tasman_reader",
    ):
        assert needle in body, needle
    assert "site.tf.example" not in deploy
    readme = (TF_DIR / "README.md").read_text(encoding="utf-8")
    assert "site.tf" in readme and "site_enabled" in readme
    assert "site.tf.example" not in readme
