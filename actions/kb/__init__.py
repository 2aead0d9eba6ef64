"""The help-center knowledge base: articles in SQL, their files, and the CLI.

``articles`` reads and writes the files (a folder of Markdown with front
matter, or a CSV ``title,answer,questions``) with no database; ``store`` puts
articles in SQL and never commits (the caller's ``session_scope`` does);
``python -m actions.kb`` is the command-line tool.
"""
