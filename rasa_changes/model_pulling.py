"""A model pulled from the model server loads beside the one answering.

Rasa checks its model server every ``wait_time_between_pulls`` seconds and,
when the ETag changed, downloads and loads the new model on the event loop:
for the 10-40 s a load takes (PyTorch, ONNX Runtime, TensorFlow) the replica
answers nobody. Here the same download is followed by the same load on a
worker thread; the event loop keeps answering with the old model until the new
one replaces it in one assignment (``Agent.load_model`` sets the processor).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import rasa.core.agent
from rasa.core.agent import Agent
from rasa.nlu.utils import is_url
from rasa.utils.common import TempDirectoryPath, get_temp_dir_name
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)


def models_loaded_beside_the_serving_one() -> None:
    pull = rasa.core.agent._pull_model_and_fingerprint
    load = rasa.core.agent._load_and_set_updated_model

    async def update_model_from_server(
        model_server: EndpointConfig, agent: Agent
    ) -> None:
        if not is_url(model_server.url):
            raise aiohttp.InvalidURL(model_server.url)
        with TempDirectoryPath(get_temp_dir_name()) as temporary_directory:
            try:
                fingerprint = await pull(
                    model_server, agent.fingerprint, temporary_directory
                )
                if fingerprint:
                    await asyncio.to_thread(
                        load, agent, temporary_directory, fingerprint
                    )
                    logger.info("Now answering with the model %s.", fingerprint)
                else:
                    logger.debug(f"No new model found at URL {model_server.url}")
            except Exception:
                logger.exception(
                    "Failed to update model. The previous model will stay loaded "
                    "instead."
                )

    rasa.core.agent._update_model_from_server = update_model_from_server
