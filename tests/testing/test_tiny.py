"""The tiny configs' constants agree with the tiny tokenizer they stand for."""

from hf_graph4mm.testing import (
    BOS,
    EOS,
    IMAGE_TOKEN,
    IMAGE_TOKEN_ID,
    PAD,
    TINY_QFORMER,
    VOCAB_SIZE,
    build_tiny_tokenizer,
    tiny_graph4mm_config,
)


def test_vocabulary_constants_match_the_tokenizer():
    tokenizer = build_tiny_tokenizer()
    assert len(tokenizer) == VOCAB_SIZE
    assert tokenizer.convert_tokens_to_ids(IMAGE_TOKEN) == IMAGE_TOKEN_ID
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (PAD, BOS, EOS)


def test_tiny_graph4mm_config_sizes_its_lm_to_the_vocabulary_and_copies_the_qformer_settings():
    for backbone in ("opt", "llama"):
        config = tiny_graph4mm_config(backbone)
        assert config.text_config.vocab_size == VOCAB_SIZE and config.image_token_id == IMAGE_TOKEN_ID
        assert config.qformer_config.hidden_size == TINY_QFORMER["hidden_size"]
    assert tiny_graph4mm_config("llama").text_config.model_type == "llama"
