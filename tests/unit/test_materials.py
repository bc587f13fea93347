from __future__ import annotations

from services.intake.domain.materials import Problem, RequiredMaterial, check, merge

PERMIT = [
    RequiredMaterial("id_card", "身份证", media_types=("image/jpeg", "application/pdf"), max_size=5_000_000),
    RequiredMaterial("lease", "租赁合同"),
    RequiredMaterial("photo", "照片", mandatory=False, media_types=("image/jpeg",)),
]


def test_every_missing_or_wrong_item_is_named_at_once() -> None:
    problems = check(
        PERMIT,
        [
            {"code": "id_card", "media_type": "image/gif", "size": 9_000_000},
            {"code": "photo", "media_type": "application/pdf"},
        ],
    )
    assert problems == [
        Problem("id_card", "身份证", "wrong_media_type"),
        Problem("id_card", "身份证", "too_large"),
        Problem("lease", "租赁合同", "missing"),
        Problem("photo", "照片", "wrong_media_type"),
    ]


def test_a_complete_submission_has_no_problems_and_optional_items_may_be_absent() -> None:
    assert (
        check(PERMIT, [{"code": "id_card", "media_type": "application/pdf", "size": 10}, {"code": "lease"}])
        == []
    )


def test_a_supplement_replaces_the_earlier_material() -> None:
    first = [{"code": "id_card", "media_type": "image/gif"}]
    later = [{"code": "id_card", "media_type": "image/jpeg"}, {"code": "lease"}]
    assert check(PERMIT, merge(first, later)) == []


def test_from_dict_defaults() -> None:
    item = RequiredMaterial.from_dict({"code": "a", "name": "A"})
    assert item.mandatory and item.media_types == () and item.max_size is None
