"""Learning from the conversations: what the assistant got wrong becomes data.

``queue``: the review queue, built from the conversations, the help center's
answers and votes, tickets and ratings; ``decisions``: what reviewers decide;
``reviewed_data``: accepted examples written to data/reviewed/ (training), to
the frozen regression set (never trained on) or to the help center. The
command line is ``python -m learning`` (docs/learning.md).
"""
