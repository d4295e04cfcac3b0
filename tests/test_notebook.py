"""The quick-start notebook runs top to bottom (outputs are stripped in git)."""

from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"


def test_notebook_outputs_are_stripped():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(
        not c.get("outputs") and not c.get("execution_count")
        for c in nb.cells
        if c.cell_type == "code"
    )


def test_quickstart_runs():
    """About 90 s on 2 cores: loads SmolLM2, samples a tokenizer, transfers twice, scores 8 texts."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
