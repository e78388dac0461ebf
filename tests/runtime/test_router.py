"""Handler adaptation without a gateway: fetched variables, input validation, declaration errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from tests.runtime.handlers import GRADE, GreetRequest, GreetResult, grade_router, greet_router, parse_pass_mark
from workers.runtime import BusinessError, DecisionLog, JobContext, RuleDataError, RuleSet, TaskRouter
from workers.runtime.policy import InvalidInputError
from workers.runtime.router import RuntimeServices, dump_output, fetch_variables, validate_input
from workers.runtime.stores.db import create_store_engine, migrate


def test_fetched_variables_are_the_aliases_plus_traceparent() -> None:
    assert fetch_variables(GreetRequest) == ["ownerName", "department", "traceparent"]


def test_validation_ignores_the_traceparent_and_reports_every_problem() -> None:
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        owner: str

    assert validate_input(Strict, {"owner": "王芳", "traceparent": "00-..."}) == Strict(owner="王芳")
    with pytest.raises(InvalidInputError, match="variable 'owner': Field required"):
        validate_input(Strict, {"traceparent": "00-..."})


def test_output_is_dumped_by_alias_in_json_mode() -> None:
    class Out(BaseModel):
        late_fine: float = Field(serialization_alias="lateFine")

    assert dump_output(Out(late_fine=1.5), "x") == {"lateFine": 1.5}
    assert dump_output(None, "x") == {}
    with pytest.raises(TypeError, match="returns a pydantic model or None"):
        dump_output({"lateFine": 1}, "handler f")


def test_a_handler_must_take_a_model_first() -> None:
    router = TaskRouter(group="t")
    with pytest.raises(TypeError, match="first parameter must be annotated with a pydantic model"):

        @router.task("t.bad")
        def bad(owner: str) -> None: ...

    with pytest.raises(TypeError, match="parameter 'extra' must be a JobContext"):

        @router.task("t.bad2")
        def bad2(request: GreetRequest, extra: int) -> None: ...


def test_a_job_type_is_registered_once() -> None:
    router = greet_router()
    with pytest.raises(ValueError, match="registered twice"):

        @router.task("runtime-test.greet")
        def again(request: GreetRequest, job: JobContext) -> None: ...


def test_pyzeebe_router_carries_the_task_settings_and_overrides() -> None:
    from workers.runtime.router import TaskOverride

    services = RuntimeServices(overrides={"runtime-test.greet": TaskOverride(timeout_ms=5_000, max_running_jobs=2)})
    (task,) = greet_router().to_pyzeebe(services).tasks
    assert task.type == "runtime-test.greet"
    assert task.config.timeout_ms == 5_000
    assert task.config.max_running_jobs == 2
    assert list(task.config.variables_to_fetch or []) == ["ownerName", "department", "traceparent"]
    assert task.config.job_parameter_name == "job"


def test_rule_sets_are_versioned_by_their_canonical_text() -> None:
    unix = RuleSet.from_text(GRADE, "pass_mark = 60\n")
    windows = RuleSet.from_text(GRADE, "\ufeffpass_mark = 60\r\n")
    assert unix.version == windows.version
    assert unix.version.startswith("sha256:") and len(unix.version) == 7 + 64
    assert unix.rules == 60
    assert RuleSet.from_text(GRADE, "pass_mark = 70\n").version != unix.version
    assert grade_router().task_types == ["runtime-test.grade"]


def test_rule_data_errors_name_row_and_field() -> None:
    with pytest.raises(RuleDataError, match=r"row 2, field 'pass_mark': not a number: 'sixty'"):
        parse_pass_mark("# exam key\npass_mark = sixty\n")


def test_models_local_to_a_function_are_reported_clearly() -> None:
    router = TaskRouter(group="t")

    class Local(BaseModel):
        owner: str

    with pytest.raises(TypeError, match="define the input/output models at module level"):

        @router.task("t.local")
        def handler(request: Local) -> None: ...


def job_context(key: int = 1) -> JobContext:
    return JobContext(
        key=key,
        type="runtime-test.grade",
        process_instance_key=10,
        bpmn_process_id="runtime-grade",
        process_definition_key=3,
        element_id="grade-exam",
        element_instance_key=4,
        retries=3,
    )


async def test_a_redelivered_decision_job_returns_the_recorded_output(tmp_path: Path) -> None:
    """Rules changed between two deliveries of one job: the second returns what was recorded."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    services = RuntimeServices(decision_log=DecisionLog(engine))
    exam = {"employee": "李伟", "score": 65}
    first = await grade_router("pass_mark = 60\n").handle("runtime-test.grade", exam, job_context(), services)
    again = await grade_router("pass_mark = 70\n").handle("runtime-test.grade", exam, job_context(), services)
    assert first == again == {"passed": True, "passMark": 60}
    with pytest.raises(BusinessError, match="below the pass mark 70"):  # a new job decides with the new rules
        await grade_router("pass_mark = 70\n").handle("runtime-test.grade", exam, job_context(2), services)


async def test_a_failed_exam_is_recorded_before_the_bpmn_error(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    log = DecisionLog(engine)
    with pytest.raises(BusinessError) as caught:
        await grade_router().handle(
            "runtime-test.grade", {"employee": "张敏", "score": 40}, job_context(), RuntimeServices(decision_log=log)
        )
    assert caught.value.code == "EXAM_FAILED"
    record = log.get_by_job(1)
    assert record is not None and record.outputs == {"passed": False, "passMark": 60}


async def test_a_decision_without_a_store_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="without a decision log"):
        await grade_router().handle("runtime-test.grade", {"employee": "x", "score": 1}, job_context())


async def test_sync_handlers_run_off_the_event_loop_with_the_job_context() -> None:
    router = TaskRouter(group="t")
    seen: list[tuple[str, int]] = []

    @router.task("t.sync")
    def sync_handler(request: GreetRequest, job: JobContext) -> GreetResult:
        import threading

        seen.append((threading.current_thread().name, job.key))
        return GreetResult(greeting=request.owner_name, handled_by="sync")

    result = await router.handle("t.sync", {"ownerName": "王芳", "department": "IT"}, job_context(9))
    assert result == {"greeting": "王芳", "handledBy": "sync"}
    assert seen[0][1] == 9 and seen[0][0] != "MainThread"
    with pytest.raises(KeyError, match=r"has no task 't\.other'"):
        await router.handle("t.other", {}, job_context())


def test_recorded_outputs_load_back_whatever_the_aliases() -> None:
    from decimal import Decimal

    from pydantic import AliasChoices

    from workers.runtime.router import load_dumped

    class Penalty(BaseModel):
        late_fine: Decimal = Field(serialization_alias="lateFine")
        total: Decimal = Field(alias="totalYuan")
        note: str = Field(validation_alias=AliasChoices("note", "remark"), default="")
        plain: int = 0

    original = Penalty(late_fine=Decimal("12.50"), totalYuan=Decimal("100"), note="x", plain=3)
    dumped = original.model_dump(mode="json", by_alias=True)
    assert load_dumped(Penalty, dumped) == original


def test_alias_choices_and_paths_fetch_every_variable_they_read() -> None:
    from pydantic import AliasChoices, AliasPath

    class Review(BaseModel):
        owner: str = Field(validation_alias=AliasChoices("processOwner", "owner"))
        month: str = Field(validation_alias=AliasPath("slaReview", "month"))
        late_fine: str = Field(alias="lateFine")

    assert fetch_variables(Review) == ["processOwner", "owner", "slaReview", "lateFine", "traceparent"]
    review = validate_input(Review, {"owner": "王芳", "slaReview": {"month": "2026-10"}, "lateFine": "10"})
    assert (review.owner, review.month) == ("王芳", "2026-10")
