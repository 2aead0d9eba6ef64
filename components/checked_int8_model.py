"""The int8 ONNX graph answering, with float32 deciding the near ties.

Int8 moves every probability a little (on the English classifier 0.01 on
average), which changes the answer only where the top two intents were nearly
tied. So the int8 graph answers every message, and a message whose top two
intents it puts closer than ``margin`` is answered again by the float32 model,
whose answer is kept. On the English training texts every message int8 and
float32 disagreed on had an int8 margin below 0.14; at 0.15 about one message
in sixteen is asked twice, and the held-out accuracy is float32's
(docs/languages.md). The price is memory: both models are loaded.

Kept free of Rasa, like `encoder_model.py`.
"""

from __future__ import annotations

from components.encoder_model import IntentSentimentModel, Prediction
from components.onnx_model import OnnxIntentSentimentModel


def top_two_margin(probabilities: list[float]) -> float:
    """How far the most likely intent is ahead of the next one (1 with one intent)."""
    ranked = sorted(probabilities, reverse=True)
    return ranked[0] - (ranked[1] if len(ranked) > 1 else 0.0)


class CheckedInt8Model:
    """Answers like `IntentSentimentModel.predict`: int8, float32 on near ties."""

    def __init__(
        self,
        fast: OnnxIntentSentimentModel,
        exact: IntentSentimentModel,
        margin: float,
    ) -> None:
        self.fast, self.exact, self.margin = fast, exact, margin
        self.labels = fast.labels
        self.max_seq_length = fast.max_seq_length

    def predict(self, texts: list[str]) -> list[Prediction]:
        predictions = self.fast.predict(texts)
        close = [
            i
            for i, prediction in enumerate(predictions)
            if top_two_margin(prediction.intent_probabilities) < self.margin
        ]
        if close:
            rechecked = self.exact.predict([texts[i] for i in close])
            for i, prediction in zip(close, rechecked):
                predictions[i] = prediction
        return predictions
