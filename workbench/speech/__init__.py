"""The seed's middle stages: speech recognition, text processing and speech synthesis.

``asr`` recognises speech offline with PocketSphinx (its en-us model ships inside the wheel); ``live`` cuts a
stream into utterances by voice activity and recognises each one; ``text`` normalises and splits text;
``tts`` speaks it with espeak-ng (from its wheel) or flite; ``voice`` trains and speaks text in a cloned voice
(TTS → target conversion); ``cascade`` chains them (speech → text → speech) and races the cascade against
direct voice conversion; ``diagram`` draws the pipeline.
"""
