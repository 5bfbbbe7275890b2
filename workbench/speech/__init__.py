"""The seed's middle stages: speech recognition, text processing and speech synthesis.

``asr`` recognises speech offline with PocketSphinx (its en-us model ships inside the wheel).
"""
